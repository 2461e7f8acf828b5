/** What batchctl loads of @aws-sdk/client-s3 when a command needs it, by name: see ../clients.ts. */
export { S3Client, ListObjectsV2Command } from '@aws-sdk/client-s3';
