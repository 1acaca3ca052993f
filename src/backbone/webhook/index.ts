export {
  createWebhookDispatcher,
  type WebhookDispatcher,
  type WebhookDispatcherOptions,
  type WebhookSubscriber,
} from './dispatcher.js';
export { createWebhookReceiver, type WebhookReceiver } from './receiver.js';
export { signWebhook, verifyWebhook, signatureHeader, type VerifyOptions } from './signature.js';
