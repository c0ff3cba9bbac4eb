"""`make container-test`: the image built from the unchanged Dockerfile and run as users run it, then
the unchanged docker-compose.yml (replicas behind nginx) brought up, checked, scaled, attacked and
brought down.

No Docker engine runs on the development machines and no container registry is reachable, so the
test brings its own, from Debian packages only:
- podman builds the image (on the host's network: pip needs PyPI) on stand-in base images made
  with debootstrap (`python:3.11-slim-bookworm`, `nginx:1.27-alpine`), cached outside the tree;
- a private dockerd (Debian's docker.io, unpacked, never installed nor started as a service) runs
  the image and the compose stack in network, mount and PID namespaces of its own: nothing listens
  on the host, and everything it started dies with the namespace, whatever happens.

Stages: `host` (checks the tools, makes a work dir, removes it at the end) -> `build` (in a private
mount and PID namespace) -> `run` (in a private network namespace as well).
"""
