const logflux = require('@logflux/logflux-js-sdk');

// Initialize once
logflux.init('https://c12345.ingest.us.logflux.io', 'my-app', 'lf_your_api_key', 'your-secret');

// Send logs - encryption is handled automatically
await logflux.info('Application started successfully');
await logflux.error('Database connection failed');
await logflux.debug('Processing user data');

await logflux.close();
