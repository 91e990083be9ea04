-- The claim lifecycle (a state machine in the service), decisions, payments, the decision
-- deadline, the income-loss benefit, and attachments.
ALTER TABLE claims DROP CONSTRAINT claims_status_check;
UPDATE claims SET status = CASE
    WHEN status = 'submitted' AND recommendation = 'approve' THEN 'verified'
    WHEN status = 'submitted' THEN 'flagged'
    WHEN status = 'in_review' THEN 'under_review'
    ELSE status END;
ALTER TABLE claims ADD CONSTRAINT claims_status_check CHECK (status IN
    ('submitted', 'verified', 'flagged', 'under_review', 'approved', 'rejected', 'needs_info', 'paid', 'closed'));
ALTER TABLE claims
    ADD COLUMN currency          text,
    ADD COLUMN benefit           jsonb,
    ADD COLUMN bank_reference    text,
    ADD COLUMN approved_amount   numeric CHECK (approved_amount >= 0),
    ADD COLUMN paid_amount       numeric CHECK (paid_amount >= 0),
    ADD COLUMN payment_reference text,
    ADD COLUMN decision_due      timestamptz NOT NULL DEFAULT now() + interval '120 hours',
    ADD COLUMN sla_breached_at   timestamptz,
    ADD COLUMN verified_at       timestamptz NOT NULL DEFAULT now();
ALTER TABLE claims ALTER COLUMN decision_due DROP DEFAULT;
CREATE INDEX claims_awaiting_decision ON claims (decision_due)
    WHERE sla_breached_at IS NULL AND status IN ('submitted', 'verified', 'flagged', 'under_review', 'needs_info');

-- Every status change: who (system, worker, insurer and its subject), why, and the
-- evidence it saw.
ALTER TABLE claim_status_history
    ADD COLUMN actor    text NOT NULL DEFAULT 'system' CHECK (actor IN ('system', 'worker', 'insurer')),
    ADD COLUMN subject  text,
    ADD COLUMN reason   text,
    ADD COLUMN evidence jsonb;
CREATE INDEX claim_status_history_by_claim ON claim_status_history (claim_id, id);

CREATE TABLE claim_attachments (
    id           uuid        PRIMARY KEY,
    claim_id     uuid        NOT NULL REFERENCES claims (id),
    content_type text        NOT NULL,
    size_bytes   bigint      NOT NULL CHECK (size_bytes > 0),
    sha256       text        NOT NULL,
    object_key   text        NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX claim_attachments_by_claim ON claim_attachments (claim_id);
