// One implementation for the tests and the chaos run: chaos/nats-server.ts (chaos must not import test code).
export { OwnNatsServer, natsServerInstalled } from '../../chaos/nats-server.js';
