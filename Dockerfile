# The newsarchive image: Debian, Debian's Chromium, the pinned virtualenv, a non-root user.
# Used by infra/kubernetes/*.yaml and infra/docker/compose.yaml. Build from the
# repository root:  docker build -t ghcr.io/newsarchive/newsarchive:0.1.0 .
#
# The setup steps are ./run's, in layers (Debian packages, then the locked
# packages, then the code, so a code change rebuilds only the last layers);
# tests/test_infra.py checks that they stay ./run's.
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1

# ./run: the Debian packages (ca-certificates for https:// sites and S3; redis-server
# for a single-machine frontier, `crawl --frontier redis://127.0.0.1:6379/0`)
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends python3 python3-venv chromium redis-server ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/newsarchive
ENV VENV=/opt/newsarchive/.venv PYWB_VENV=/opt/newsarchive/.venv-pywb

# ./run: the virtualenv with the pinned packages of requirements.lock
COPY requirements.lock pyproject.toml ./
RUN python3 -m venv "$VENV" \
 && "$VENV/bin/python" -m pip install -q --disable-pip-version-check -U "pip==26.3" \
 && "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements.lock

# ./run: the newsarchive command in it, and ./run's stamp (so `./run test` in the
# container finds the virtualenv set up)
COPY . .
RUN "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . \
 && cat requirements.lock pyproject.toml | sha256sum | cut -c1-16 > "$VENV/.newsarchive-stamp"

# ./run: pywb's own virtualenv (it pins redis<3), which `replay` starts its server from
RUN python3 -m venv "$PYWB_VENV" \
 && "$PYWB_VENV/bin/python" -m pip install -q --disable-pip-version-check -U "pip==26.3" \
 && "$PYWB_VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-pywb.lock \
 && "$PYWB_VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . \
 && cat requirements-pywb.lock pyproject.toml | sha256sum | cut -c1-16 > "$PYWB_VENV/.newsarchive-stamp"

# Never root: uid/gid 10001, as the Kubernetes manifests' securityContext says.
RUN groupadd --gid 10001 newsarchive \
 && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin newsarchive \
 && mkdir -p /data && chown 10001:10001 /data
USER 10001:10001
ENV PATH=/opt/newsarchive/.venv/bin:$PATH
VOLUME /data
ENTRYPOINT ["newsarchive"]
CMD ["--help"]
