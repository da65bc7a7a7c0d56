# The hotline's Go binaries (callsvc, casework, hotlinectl, prompts) on Debian 12,
# with espeak-ng and sox for prompts and spoken case status.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/ ./cmd/...

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends espeak-ng sox ghostscript ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /usr/local/bin/
# Each service runs as its own unprivileged user (issue 14; docker-compose.yml
# sets `user:` per service): hotline-call (uid 10014) and hotline-case (10015).
# They share files with Asterisk through hotline-media (gid 10016: Asterisk and
# the call service) and hotline-fax (gid 10017: Asterisk and both services);
# asterisk.Dockerfile gives Asterisk's user the same gids. Neither is in
# Asterisk's group (10013) nor in the other's. The data directory in the image
# seeds the named volume with the layout of deploy/stack/serviceuser.sh; the
# Asterisk container's start runs `stack.sh service-user`, which converts a
# volume of the earlier single-user layout (uid 10012).
RUN groupadd --system --gid 10014 hotline-call \
    && groupadd --system --gid 10015 hotline-case \
    && groupadd --system --gid 10016 hotline-media \
    && groupadd --system --gid 10017 hotline-fax \
    && useradd --system --uid 10014 --gid hotline-call --groups hotline-media,hotline-fax --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin hotline-call \
    && useradd --system --uid 10015 --gid hotline-case --groups hotline-fax --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin hotline-case \
    && D=/var/lib/hotline12345 \
    && install -d -m 0755 $D $D/sounds \
    && install -d -m 0750 -o hotline-call -g hotline-call $D/spool $D/calendar \
    && install -d -m 2750 -o hotline-call -g hotline-case $D/voicemail $D/recordings \
    && install -d -m 2750 -o hotline-call -g hotline-media $D/sounds/hotline \
    && install -d -m 2750 -o hotline-call -g hotline-fax $D/fax \
    && install -d -m 2750 -o hotline-call -g hotline-media $D/fax/catalogue \
    && install -d -m 2770 -o hotline-call -g hotline-fax $D/fax/received
# The default; compose names the user of each service.
USER hotline-call:hotline-call
