"""POST /v1/rankings/fhir: rank the PractitionerRoles of a FHIR R4 searchset Bundle, as the national
health directory (ANS Annuaire Santé) returns it, with the ranking engine of POST /v1/rankings."""
