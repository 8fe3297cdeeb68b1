# shipdeck's release image: the binary built by the `build` stage (dist/shipdeck).
FROM debian:bookworm-slim
ARG SHIPDECK_COMMIT=unknown
ENV SHIPDECK_COMMIT=$SHIPDECK_COMMIT
COPY dist/shipdeck /usr/local/bin/shipdeck
ENTRYPOINT ["shipdeck"]
