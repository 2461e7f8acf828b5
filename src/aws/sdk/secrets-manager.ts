/** What batchctl loads of @aws-sdk/client-secrets-manager when a command needs it, by name: see ../clients.ts. */
export { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
