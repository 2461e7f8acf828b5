let port;
export function initialize(data) {
  port = data.port;
}
export async function resolve(specifier, context, next) {
  const m = /^@aws-sdk\/(client-[a-z0-9-]+)$/.exec(specifier);
  if (m) port.postMessage(m[1]);
  return next(specifier, context);
}
