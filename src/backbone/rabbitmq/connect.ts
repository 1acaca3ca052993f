import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { TidemarkError } from '../../errors.js';
import type { RabbitMqConfig } from './options.js';

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** AMQP reply codes of a refused login, vhost or resource permission. */
function deniedCode(error: unknown): boolean {
  const text = reason(error);
  const code = (error as { code?: unknown }).code;
  return code === 403 || code === 530 || /ACCESS[-_]REFUSED|NOT_ALLOWED|access to vhost/i.test(text);
}

/**
 * Turns a broker failure at start-up into an error that names the address and the fix: refused
 * credentials or permissions are TM_BACKBONE_ACCESS_DENIED (retrying will not help), anything
 * else TM_SERVICE_UNREACHABLE.
 */
export function brokerError(config: RabbitMqConfig, doing: string, cause: unknown): TidemarkError {
  if (deniedCode(cause)) {
    return new TidemarkError(
      'TM_BACKBONE_ACCESS_DENIED',
      `RabbitMQ at ${config.address} refused ${doing} (${reason(cause)}); check the user and password in ` +
        `the rabbitmq option "url", that the vhost exists, and that the user may configure, write and read ` +
        `resources named "${config.prefix}.*" (rabbitmqctl set_permissions)`,
      { cause, context: { address: config.address, prefix: config.prefix } },
    );
  }
  return new TidemarkError(
    'TM_SERVICE_UNREACHABLE',
    `RabbitMQ at ${config.address} failed while ${doing} (${reason(cause)}); check that rabbitmq-server is ` +
      'running and that the rabbitmq option "url" points to it',
    { cause, context: { address: config.address, prefix: config.prefix } },
  );
}

export interface RabbitSession {
  /** The current connection, reconnecting first if the last one was lost. */
  connection(): Promise<ChannelModel>;
  channel(): Promise<Channel>;
  confirmChannel(): Promise<ConfirmChannel>;
  /** Cuts the connection without a close handshake, as a crashed process would. */
  sever(): void;
  close(): Promise<void>;
}

/** Opens the first connection at once, so a wrong address or password fails at start-up. */
export async function openSession(config: RabbitMqConfig): Promise<RabbitSession> {
  let current: ChannelModel | undefined;
  let opening: Promise<ChannelModel> | undefined;
  let closed = false;

  async function open(): Promise<ChannelModel> {
    const url = new URL(config.url);
    // Heartbeats let the broker notice a silent (hung or partitioned) member within seconds.
    if (!url.searchParams.has('heartbeat')) {
      url.searchParams.set('heartbeat', String(Math.max(1, Math.round(config.connectTimeoutMs / 1000))));
    }
    const model = await amqp.connect(url.toString(), { timeout: config.connectTimeoutMs });
    // A lost connection is replaced on next use; its channels' owners see their own close events.
    model.on('error', () => {});
    model.on('close', () => {
      if (current === model) current = undefined;
    });
    current = model;
    return model;
  }

  try {
    await open();
  } catch (cause) {
    throw brokerError(config, 'the connection', cause);
  }

  async function connection(): Promise<ChannelModel> {
    if (closed) throw new TidemarkError('TM_CLOSED', `the rabbitmq backbone '${config.prefix}' is closed`);
    if (current) return current;
    opening ??= open().finally(() => (opening = undefined));
    return opening;
  }

  return {
    connection,
    async channel() {
      const channel = await (await connection()).createChannel();
      channel.on('error', () => {});
      return channel;
    },
    async confirmChannel() {
      const channel = await (await connection()).createConfirmChannel();
      channel.on('error', () => {});
      return channel;
    },
    sever() {
      closed = true;
      const socket = (current as unknown as { connection?: { stream?: { destroy(): void } } } | undefined)
        ?.connection?.stream;
      socket?.destroy();
    },
    async close() {
      closed = true;
      const model = current;
      current = undefined;
      await model?.close().catch(() => {});
    },
  };
}
