// A real OpenID Connect provider for Intro's tests: panva's oidc-provider on a loopback
// port. Its clients and accounts come as JSON in OIDC_TEST_CONFIG:
//   {"clients": [{client_id, client_secret, redirect_uris}],
//    "accounts": {"<login>": {"email": ..., "email_verified": true, "name": ...}}}
// Sign-in uses the provider's own development pages (any password, the login is the
// account id), which the tests fill in like a person would.
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_TEST_CONFIG);
const port = Number(process.env.OIDC_TEST_PORT);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: config.clients.map((c) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...c,
  })),
  async findAccount(ctx, id) {
    const account = config.accounts[id];
    if (!account) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...account }; } };
  },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // The e-mail claims in the ID token itself, as Entra ID and AD FS put them.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  cookies: { keys: ['intro-test-cookie-key'] },
  ttl: { IdToken: Number(config.id_token_ttl || 3600) },
});
provider.proxy = false;
// Errors the provider answers with go to the log the tests keep.
provider.on('server_error', (ctx, error) => console.error('server_error', error));
// Development pages over plain http on loopback are fine here, and only here.
const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
