# syntax=docker/dockerfile:1
#
# Relais in a small image: one static binary (pure Go, no cgo: the embedded
# store is modernc.org/sqlite) on distroless/static, which carries CA
# certificates (for the LLM and WhatsApp APIs) and time zones (for business
# hours), and nothing else: no shell, no package manager.
#
#   docker build -t relais .
#   docker run -p 8080:8080 -v relais-data:/data relais serve --demo
#
# The image runs `relais serve`; give another command to run it instead
# (`docker run relais version`, `... ingest /kb`).

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first: a change to the code does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags="-s -w" -o /out/relais ./cmd/relais \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot AS final
COPY --from=build /out/relais /usr/local/bin/relais
# The demo's emergency phrasings, for a replica that serves the demo's
# knowledge without loading it (docker-compose.yml's relais-2).
COPY --from=build /src/cmd/relais/demo/intents.txt /usr/local/share/relais/demo-intents.txt
# The embedded store's folder, owned by the user Relais runs as: a named
# volume mounted here starts with that owner.
COPY --from=build --chown=65532:65532 /out/data /data
ENV RELAIS_ADDR=:8080 \
    RELAIS_DATA_DIR=/data \
    RELAIS_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
# distroless's "nonroot" user, by number so that Kubernetes'
# runAsNonRoot can check it.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/relais"]
CMD ["serve"]
