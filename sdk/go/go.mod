module github.com/logflux-io/logflux-go-sdk

go 1.24
