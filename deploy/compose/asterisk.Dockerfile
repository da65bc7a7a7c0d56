# Asterisk 22 from Debian sid (Debian 12 has no Asterisk package), configured by
# the same templates and renderer as the dev stack (deploy/stack.sh).
FROM debian:sid-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      asterisk asterisk-modules asterisk-core-sounds-en asterisk-moh-opsound-wav \
      gettext-base curl iproute2 procps ca-certificates openssl \
    && rm -rf /var/lib/apt/lists/*
COPY asterisk-conf /opt/hotline/asterisk-conf
COPY deploy/stack.sh /opt/hotline/deploy/stack.sh
COPY deploy/stack /opt/hotline/deploy/stack
COPY deploy/demo /opt/hotline/deploy/demo
ENV HOTLINE_DATA_DIR=/var/lib/hotline12345
CMD ["bash", "-c", "bash /opt/hotline/deploy/stack.sh asterisk-render node && exec asterisk -f -U asterisk -C /var/lib/hotline12345/asterisk/node/etc/asterisk.conf"]
