# deal-bot container image. Build: docker compose build   Run: docker compose up -d
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Match these to the owner of ./data on the host (docker compose build --build-arg UID=$(id -u)).
ARG UID=1000
ARG GID=1000
RUN groupadd --gid "${GID}" bot \
    && useradd --uid "${UID}" --gid bot --no-create-home --shell /usr/sbin/nologin bot

# English questions are machine-translated by Apertium (rule-based, offline; optional outside
# the image: without it the glossary alone handles English).
RUN apt-get update \
    && apt-get install -y --no-install-recommends apertium-en-es \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY . /app

# Same install command as the README quick start; code and venv stay root-owned (read-only).
# A C compiler only for the install: it builds the compiled ranking (bot/core/_topk.c), the
# loading's chunk table (bot/core/_chunks.c) and typo repair's loop (bot/core/_typos.c), then
# leaves the image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && python3 -m venv .venv && .venv/bin/pip install -e '.[test]' \
    && apt-get purge -y --auto-remove gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
# The editable install leaves bot/ uncompiled and PYTHONDONTWRITEBYTECODE keeps it so at run
# time: compile it once here (about 15% of a cold `python -m bot ask`, measured in instructions).
RUN .venv/bin/python -m compileall -q bot

RUN mkdir -p /app/data /app/knowledge && chown bot:bot /app/data
VOLUME ["/app/knowledge", "/app/data"]

USER bot
STOPSIGNAL SIGTERM
CMD ["/app/.venv/bin/python", "-m", "bot"]
