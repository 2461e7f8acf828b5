/** The fake's service names, by the SDK's service ids (sdk-services.mjs). */
export declare const SDK_SERVICES: Record<string, string>;
