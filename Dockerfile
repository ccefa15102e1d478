# syncline: one static binary on a distroless base, running as non-root.
#   docker build -t syncline .
#   docker run --rm syncline --help
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/syncline ./cmd/syncline

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/syncline /usr/local/bin/syncline
USER nonroot:nonroot
# --metrics-addr serves /metrics, /healthz and /readyz here by convention.
EXPOSE 9101
ENTRYPOINT ["/usr/local/bin/syncline"]
CMD ["--help"]
