# consentguard: `consentguard run` as a non-root user, models inside the image, data in a volume.
# Build: docker build -t consentguard .   Run: docker run -e CONSENTGUARD_TELEGRAM__TOKEN=... -v cg-data:/data consentguard

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY detectors ./detectors
COPY config ./config
# Wheels for the project and every dependency; the BlazeFace models are package data of `detectors`,
# the OCR models ship inside the rapidocr wheel: nothing is fetched when the container starts.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CONSENTGUARD_DATA_DIR=/data
COPY --from=build /wheels /wheels
# mediapipe pulls the GUI build of OpenCV; a server needs the headless one only (no X11 libraries).
# Versions are pinned by the wheel set built above (--no-index): nothing else can be installed here.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir --no-index --find-links=/wheels consentguard \
    && pip uninstall --yes opencv-contrib-python \
    && pip install --no-cache-dir --no-index --find-links=/wheels --force-reinstall --no-deps opencv-python-headless \
    && rm -rf /wheels \
    && useradd --create-home --uid 10001 consentguard \
    && mkdir -p /data && chown consentguard:consentguard /data
USER 10001:10001
WORKDIR /home/consentguard
VOLUME ["/data"]
HEALTHCHECK --interval=60s --timeout=10s --start-period=120s --retries=3 CMD ["consentguard", "health"]
ENTRYPOINT ["consentguard"]
CMD ["run"]
