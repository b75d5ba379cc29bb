# toolwatch on debian:bookworm-slim.
#
#   docker build -t toolwatch .
#   docker run --rm -v /etc/toolwatch:/etc/toolwatch:ro \
#       --env-file /etc/toolwatch/secrets.env toolwatch
#
# The build stage builds the Debian package (dpkg-buildpackage, as
# .ci/package does) and the final stage installs it, so the image holds
# what the package holds and runs it as the user `toolwatch`.
#
# --build-arg TESTS=1 also runs what CI runs first (.ci/run: tests/deps.sh,
# make test, the fuzz smoke, make memcheck, .ci/package), so the image
# exists only from a tree that passes; it takes as long as CI and some
# integration tests mount a tmpfs to fill a disk, which a default
# `docker build` does not allow (use CI for the tests, or a builder with
# that privilege).  The default, TESTS=0, installs only the package's
# Build-Depends.  tests/system/docker_build.sh builds the image and runs it.

FROM debian:bookworm-slim AS build
ARG TESTS=0
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends bash ca-certificates \
        build-essential debhelper dpkg-dev fakeroot
WORKDIR /src/toolwatch
COPY . .
RUN if [ "$TESTS" = 1 ]; then sh tests/deps.sh && .ci/run; \
    else apt-get build-dep -y --no-install-recommends ./; fi
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
