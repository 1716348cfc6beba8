package main

import logflux "github.com/logflux-io/logflux-go-sdk"

func main() {
    // Initialize once
    logflux.Init("https://c12345.ingest.us.logflux.io", "my-app", "lf_your_api_key", "your-secret")
    defer logflux.Close()

    // Send logs - encryption is handled automatically
    logflux.Info("Service initialized")
    logflux.Warning("Rate limit approaching")
    logflux.Error("Database connection failed")
}
