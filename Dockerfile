# syntax=docker/dockerfile:1
# affectlens served by TorchServe.
#   CPU (default):  docker build -t affectlens .
#   GPU:            docker build -t affectlens:gpu --build-arg ACCELERATOR=gpu .   (onnxruntime-gpu, fp16 graph)
#   run:            docker run --rm -p 127.0.0.1:8080:8080 affectlens      (add --gpus all for the GPU image)
#   token:          docker exec <container> affectlens token
# Every step is a script in docker/ that also runs outside Docker (and is exercised by the tests).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG ACCELERATOR=cpu

# -- source: a virtual environment and the sources (no dependencies yet) -----------------------------
FROM ${PYTHON_IMAGE} AS source
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 HF_HUB_OFFLINE=1 VIRTUAL_ENV=/opt/venv
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY pyproject.toml README.md ./
COPY affectlens ./affectlens
COPY lexicons ./lexicons
COPY export ./export
COPY handlers ./handlers
COPY docker ./docker

# -- model: the model folder the accelerator needs (BuildKit builds only the stage ACCELERATOR names) ----
# cpu: the shipped int8 model is served as is; nothing to build.
FROM source AS model-cpu
RUN mkdir -p /app/models

# gpu: the fp16 graph, exported on CPU from the shipped Hugging Face weights. The training stack (torch,
# transformers, optimum) lives in this stage's own environment and never reaches the runtime image.
FROM source AS model-gpu
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN docker/install.sh export "$TORCH_INDEX_URL"
RUN docker/model.sh gpu /app/models/fp16

FROM model-${ACCELERATOR} AS model

# -- build: the serving environment and the model archive -------------------------------------------
FROM source AS build
ARG ACCELERATOR
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN docker/install.sh "$ACCELERATOR" "$TORCH_INDEX_URL"
COPY --from=model /app/models /app/models
RUN docker/archive.sh "$ACCELERATOR" /app/model_store

# -- runtime: Java for TorchServe's frontend, the venv and the app, a non-root user ------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG ACCELERATOR
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 --shell /usr/sbin/nologin affectlens
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
# No secrets in the image: TorchServe writes its tokens into the run directory when it starts.
# AFFECTLENS_ACCELERATOR tells docker/entrypoint.sh which model the archive step built.
ENV PATH=/opt/venv/bin:$PATH VIRTUAL_ENV=/opt/venv HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 \
    AFFECTLENS_RUN_DIR=/home/affectlens/run AFFECTLENS_ACCELERATOR=${ACCELERATOR}
WORKDIR /app
USER affectlens
EXPOSE 8080 8081 8082
# Healthy only when the model's worker is READY (TorchServe's /ping is Healthy before the model loads).
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 CMD ["python", "/app/docker/healthcheck.py"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
