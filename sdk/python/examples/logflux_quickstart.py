import logflux

# Initialize once
logflux.init('https://c12345.ingest.us.logflux.io', 'my-app', 'lf_your_api_key', 'your-secret')

# Send logs - encryption is handled automatically
logflux.info('User registered successfully')
logflux.warning('High memory usage detected')
logflux.error('Payment processing failed')

logflux.close()
