/** What batchctl loads of @aws-sdk/client-ecr when a command needs it, by name: see ../clients.ts. */
export { ECRClient, DescribeImagesCommand } from '@aws-sdk/client-ecr';
