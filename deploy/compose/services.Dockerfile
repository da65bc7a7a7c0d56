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
# The services run as their own unprivileged user (issue 14), a member of the
# group Asterisk's image gives its user (gid 10013 in asterisk.Dockerfile), so
# that prompts, recordings and faxes in the shared volume are shared through
# the group. The data directory in the image seeds the named volume with the
# right owners on first use.
RUN groupadd --system --gid 10013 asterisk \
    && groupadd --system --gid 10012 hotline \
    && useradd --system --uid 10012 --gid hotline --groups asterisk --no-create-home \
       --home-dir /var/lib/hotline12345 --shell /usr/sbin/nologin hotline \
    && install -d -m 0755 /var/lib/hotline12345 /var/lib/hotline12345/sounds \
    && install -d -m 0750 -o hotline -g hotline /var/lib/hotline12345/spool /var/lib/hotline12345/calendar \
       /var/lib/hotline12345/voicemail \
    && install -d -m 2775 -o hotline -g asterisk /var/lib/hotline12345/sounds/hotline \
    && install -d -m 2770 -o hotline -g asterisk /var/lib/hotline12345/recordings /var/lib/hotline12345/fax
USER hotline:hotline
