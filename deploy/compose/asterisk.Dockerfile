# Asterisk 22 from Debian sid (Debian 12 has no Asterisk package), configured by
# the same templates and renderer as the dev stack (deploy/stack.sh).
FROM debian:sid-slim
# Asterisk's user with fixed ids (the package keeps an existing one), a member
# of the groups the services' image (services.Dockerfile) shares files through:
# hotline-media (10016) and hotline-fax (10017); asterisk.conf names no
# rungroup, so Asterisk keeps them. The services' users exist here with the
# same ids for `stack.sh service-user` (the shared volume's owners); they run
# nothing in this container.
RUN groupadd --system --gid 10013 asterisk \
    && groupadd --system --gid 10016 hotline-media \
    && groupadd --system --gid 10017 hotline-fax \
    && useradd --system --uid 10013 --gid asterisk --groups hotline-media,hotline-fax \
       --home-dir /var/lib/asterisk --shell /usr/sbin/nologin asterisk \
    && groupadd --system --gid 10014 hotline-call \
    && groupadd --system --gid 10015 hotline-case \
    && useradd --system --uid 10014 --gid hotline-call --groups hotline-media,hotline-fax --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin hotline-call \
    && useradd --system --uid 10015 --gid hotline-case --groups hotline-fax --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin hotline-case
RUN apt-get update && apt-get install -y --no-install-recommends \
      asterisk asterisk-modules asterisk-core-sounds-en asterisk-moh-opsound-wav \
      gettext-base curl iproute2 procps ca-certificates openssl \
    && rm -rf /var/lib/apt/lists/*
COPY asterisk-conf /opt/hotline/asterisk-conf
COPY deploy/stack.sh /opt/hotline/deploy/stack.sh
COPY deploy/stack /opt/hotline/deploy/stack
COPY deploy/demo /opt/hotline/deploy/demo
ENV HOTLINE_DATA_DIR=/var/lib/hotline12345
# service-user: the shared volume's owners and modes (idempotent; converts a
# volume of the earlier single-user layout).
CMD ["bash", "-c", "bash /opt/hotline/deploy/stack.sh asterisk-render node && bash /opt/hotline/deploy/stack.sh service-user && exec asterisk -f -U asterisk -C /var/lib/hotline12345/asterisk/node/etc/asterisk.conf"]
