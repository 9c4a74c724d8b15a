#!/usr/bin/env bash
# Build a RabbitMQ image from Debian's packages, for machines that cannot pull from a
# registry (CI here). Debian bookworm ships RabbitMQ 3.10 with the MQTT plugin; it reads
# the same /etc/rabbitmq files as the official image, so the stack's rendered config
# works unchanged. Reuses the image when it already exists.
#
#   scripts/build-rabbitmq-image.sh [IMAGE]      (default: iot-faas/rabbitmq-debian:bookworm)
set -euo pipefail

image="${1:-${RABBITMQ_IMAGE:-iot-faas/rabbitmq-debian:bookworm}}"
suite="${DEBIAN_SUITE:-bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "image $image exists; reusing it"
  exit 0
fi

command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install -y debootstrap" >&2; exit 1; }

root="$(mktemp -d /tmp/rabbitmq-rootfs.XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "debootstrap $suite into $root (about a minute)"
debootstrap --variant=minbase --include=rabbitmq-server "$suite" "$root" "$mirror" >/tmp/debootstrap-rabbitmq.log 2>&1 \
  || { tail -20 /tmp/debootstrap-rabbitmq.log >&2; exit 1; }
# The package's postinst starts nothing inside a chroot; drop apt caches to keep it small.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
# Run as the rabbitmq user like the official image; HOME holds the Erlang cookie.
tar -C "$root" -c . | docker import \
  -c 'ENV HOME=/var/lib/rabbitmq' \
  -c 'ENV PATH=/usr/lib/rabbitmq/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'USER rabbitmq' \
  -c 'EXPOSE 1883 5672 15672' \
  -c 'CMD ["rabbitmq-server"]' - "$image" >/dev/null
echo "built $image"
