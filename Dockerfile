# toolwatch on debian:bookworm-slim.
#
#   docker build -t toolwatch .
#   docker run --rm -v /etc/toolwatch:/etc/toolwatch:ro \
#       --env-file /etc/toolwatch/secrets.env toolwatch
#
# The build stage runs what CI runs (.ci/run: tests/deps.sh, make test,
# the fuzz smoke, make memcheck; then the Debian package with
# dpkg-buildpackage), so an image exists only from a tree that passes.
# --build-arg TESTS=0 skips the tests (the package is still built).
# Some integration tests mount a tmpfs to fill a disk: they need
# `docker build` with --security-opt / a privileged builder, or TESTS=0.

FROM debian:bookworm-slim AS build
ARG TESTS=1
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends bash ca-certificates \
        debhelper dpkg-dev fakeroot
WORKDIR /src/toolwatch
COPY . .
RUN sh tests/deps.sh
RUN if [ "$TESTS" = 1 ]; then .ci/run; fi
RUN rm -rf build \
 && dpkg-buildpackage -us -uc -b \
 && mkdir -p /out && cp ../toolwatch_*.deb /out/

FROM debian:bookworm-slim
ENV DEBIAN_FRONTEND=noninteractive
COPY --from=build /out/ /tmp/deb/
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
        /tmp/deb/toolwatch_*.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/deb
RUN install -d -o toolwatch -g toolwatch -m 0700 /var/lib/toolwatch
USER toolwatch
ENV TOOLWATCH_STATE_DIR=/var/lib/toolwatch
VOLUME /var/lib/toolwatch
ENTRYPOINT ["/usr/bin/toolwatch"]
CMD ["run", "-c", "/etc/toolwatch/config.json"]
