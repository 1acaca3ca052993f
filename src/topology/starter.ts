/**
 * The commented starter file `tidemark init` writes: the insurer estate of the demo. It must
 * validate cleanly (a unit test parses it); docs/topology.md describes every field.
 */
export const starterTopology = `# Tidemark topology: who owns which data, who receives it, how, and when it is ready.
# Reference: docs/topology.md. Check it with: tidemark topology check
#
# This starter describes an insurer. Customer Profile owns customer data; Billing, Policy,
# Claims and Communications each keep or read what they need of it, with their own rules.
version: 1

# Contexts: the services that each own a slice of the business.
contexts:
  - name: customer-profile
    description: Accepts customer registrations and address changes.
  - name: billing
    description: Bills customers; keeps a full copy of each customer.
  - name: policy
    description: Underwrites policies; reacts to what happened to a customer.
  - name: claims
    description: Handles claims; some customers are under investigation.
  - name: communications
    description: Sends letters and e-mails; fetches the current customer when told of a change.

# Entity types: each has exactly one authority, the only context that may write it.
entityTypes:
  - name: customer
    authority: customer-profile
    description: A customer's name and postal address.

# Flows: how an entity type travels from its authority to a consumer.
#   strategy: push-state (full state in the event), push-domain (domain events, in order),
#             notify-fetch (a thin notice, then a fetch), pull (read on demand, no copy)
#   tier:     strong (read the authority), bounded (copy no older than maxStalenessMs),
#             eventual (the local copy; the default)
#   rules:    hold: <held state> [when: <condition>], deferred-until: <calendar>,
#             blocked-when: <condition>
flows:
  - name: customer-to-billing
    entityType: customer
    source: customer-profile
    consumer: billing
    strategy: push-state
    tier: eventual
    rules:
      - deferred-until: next-billing-cycle
        description: A new address is used from the next billing cycle on.

  - name: customer-to-policy
    entityType: customer
    source: customer-profile
    consumer: policy
    strategy: push-domain
    rules:
      - hold: under-review
        when: risk-address-changed
        description: A change of risk address waits for underwriting review.

  - name: customer-to-claims
    entityType: customer
    source: customer-profile
    consumer: claims
    strategy: push-domain
    rules:
      - blocked-when: investigation-open
        description: No change is applied while the customer is under investigation.

  - name: customer-to-communications
    entityType: customer
    source: customer-profile
    consumer: communications
    strategy: notify-fetch
    tier: bounded
    maxStalenessMs: 60000 # reads fetch from customer-profile if the copy is older than a minute

# Calendars name the dates that rules and decisions wait for.
calendars:
  - name: next-billing-cycle
    cron: '0 0 1 * *' # midnight on the first of each month
    description: Start of a billing cycle.
  - name: billing-cut-off
    cron: '0 18 25 * *' # 18:00 on the 25th
    description: Changes accepted after the cut-off wait for the cycle after next.

# Conditions name facts about an entity that rules depend on; the consuming context decides them.
conditions:
  - name: risk-address-changed
    description: The change moves the insured risk to another address.
  - name: investigation-open
    description: A claims investigation is open on the customer.

# Decisions: business actions and what they need before they may use a change.
#   requires: <stage>@<context>; stages: accepted, validated, published (at the authority),
#             delivered, applied, reconciled, settled (at a consumer)
decisions:
  - name: send-letter
    entityType: customer
    requires: [applied@communications]
    description: Write to the customer at the new address.
  - name: bill-at-new-address
    entityType: customer
    requires: [applied@billing]
    cutOff: billing-cut-off
    description: Send the next invoice to the new address.
  - name: quote-at-new-risk-address
    entityType: customer
    requires: [applied@policy]
    description: Price a policy for the new risk address.
  - name: confirm-address-change
    entityType: customer
    requires: [reconciled@billing, applied@policy, applied@claims, applied@communications]
    description: Tell the customer the change is complete everywhere.

# Reconciliation: compare each copy with the authority on a schedule and repair differences.
#   every: 15m | 1h | 1d …, or cron: '<minute> <hour> <day> <month> <weekday>'
#   repair: republish (send the state again), rehydrate (the consumer pulls it),
#           tombstone (delete an orphan copy), exception (open a case for a person; the default)
reconciliation:
  - flow: customer-to-billing
    every: 15m
    repair: republish
  - flow: customer-to-policy
    cron: '0 * * * *'
    repair: rehydrate
  - flow: customer-to-claims
    every: 1h
    repair: exception
  - flow: customer-to-communications
    every: 30m
    repair: rehydrate

# Backbone: what carries the events between contexts (docs/backbones.md). Left out, it is
# postgres-log: a log table in the outbox's own database, no broker needed. For a broker:
#   kind: nats-jetstream | rabbitmq | redis-streams, url: nats://… | amqp://… | redis://…
#   (or url: \${VARIABLE} to keep a password out of this file), name: tidemark, partitions: 16
# backbone:
#   kind: rabbitmq
#   url: \${TIDEMARK_RABBITMQ_URL}
`;
