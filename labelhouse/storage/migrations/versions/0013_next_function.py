"""PostgreSQL: ``lh_next``, the labeling loop's ``next`` as one server-side function

``next`` was four round trips on PostgreSQL (the project row and the user's live leases; the
claim; the audit handout; the commit), and each trip costs both the server process and the
database a wake-up. This function runs the same rules in one statement, so ``next`` is one
message ``BEGIN; settings; SELECT * FROM lh_next(...)`` and its commit (services/queue.py,
``next_task``): the project in the caller's workspace, the caller's pause, the expiry sweep when
the caller says it is due, the reuse of a live lease (prefetch may hold ``p_max_live``), gold
first when the caller's draw ``p_draw`` is under the project's gold rate, the claim of the first
open task (``FOR UPDATE SKIP LOCKED``, then the conditional ``done + leased < overlap`` update,
then the upsert of the (task, user) lease row), and the task-handout event appended to the
user's audit lane.

The Python code keeps the rules for SQLite and for annotators with skills (dispatch/leases.py,
dispatch/policy.py, services/queue.py, services/audit.py); docs/architecture.md, "The next
function on PostgreSQL", says where each rule is in both. The event's hash is
``security/audit.event_hash``: the caller passes the event's fields as the JSON text that hash
covers (``security/audit.event_fields_json``); this function adds the sequence number, the
target, the details and the lane in the same order and spelling, and ``sha256`` does the rest.
The lane's head is read here (each statement of a volatile function sees what other
transactions committed before it), so the append needs no guess; when another transaction of
the same user took the number meanwhile, ``ON CONFLICT DO NOTHING`` changes nothing and the head
is read again; after 20 tries the function fails (``unique_violation``) and nothing of the call
stays. Row security (migration 0010) applies: the function runs with the caller's rights.

SQLite has no server-side functions: nothing to do there.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_SIGNATURE = (
    "lh_next(bigint, bigint, bigint, timestamptz, boolean, boolean, double precision, integer, text, "
    "text, text)"
)

_FUNCTION = r"""
CREATE OR REPLACE FUNCTION lh_next(
    p_w bigint, p_p bigint, p_u bigint, p_now timestamptz, p_prefetch boolean, p_sweep boolean,
    p_draw double precision, p_max_live integer, p_actor text, p_event text, p_lane text)
RETURNS TABLE (o_outcome text, o_reason text, o_lease_id bigint, o_task_id bigint,
               o_expires_at timestamptz, o_item_id bigint, o_data jsonb, o_draft jsonb,
               o_content_hash text)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_gold_rate double precision;
    v_seconds integer;
    v_pause text;
    v_live bigint[];
    v_reuse bigint;
    v_again boolean := false;
    v_gold boolean;
    v_exp timestamptz;
    v_try integer;
    v_seq bigint;
    v_prev text;
    v_details text;
BEGIN
    -- The project row, in the caller's workspace, and whether the caller is paused there.
    SELECT p.gold_rate, p.lease_seconds,
           (SELECT ap.reason FROM annotator_pauses ap WHERE ap.project_id = p.id
              AND ap.user_id = p_u AND ap.lifted_at IS NULL LIMIT 1)
      INTO v_gold_rate, v_seconds, v_pause
      FROM projects p WHERE p.id = p_p AND p.workspace_id = p_w AND p.deleted_at IS NULL;
    IF NOT FOUND THEN
        o_outcome := 'missing';
        RETURN NEXT;
        RETURN;
    END IF;
    IF v_pause IS NOT NULL THEN
        o_outcome := 'paused';
        o_reason := v_pause;
        RETURN NEXT;
        RETURN;
    END IF;
    -- The project's expired leases end and give their slots back (when the caller says it is due).
    IF p_sweep THEN
        WITH e AS (UPDATE leases SET state = 'expired', ended_at = p_now
                    WHERE project_id = p_p AND state = 'active' AND expires_at <= p_now
                    RETURNING leases.task_id)
        UPDATE tasks SET leased = GREATEST(tasks.leased - c.n, 0)
          FROM (SELECT e.task_id, COUNT(*) AS n FROM e GROUP BY e.task_id) c
         WHERE tasks.id = c.task_id;
    END IF;
    -- A live lease answers the call (dispatch/policy.reusable): the oldest, or for a prefetch the
    -- newest once p_max_live are held.
    SELECT array_agg(l.id ORDER BY l.id) INTO v_live FROM leases l
     WHERE l.project_id = p_p AND l.user_id = p_u AND l.state = 'active' AND l.expires_at > p_now;
    IF v_live IS NOT NULL THEN
        IF NOT p_prefetch THEN
            v_reuse := v_live[1];
        ELSIF cardinality(v_live) >= p_max_live THEN
            v_reuse := v_live[cardinality(v_live)];
        END IF;
    END IF;
    IF v_reuse IS NOT NULL THEN
        v_again := true;
        SELECT l.id, l.task_id, l.expires_at, i.id, i.data, d.answer, i.content_hash
          INTO o_lease_id, o_task_id, o_expires_at, o_item_id, o_data, o_draft, o_content_hash
          FROM leases l JOIN tasks t ON t.id = l.task_id JOIN items i ON i.id = t.item_id
          LEFT JOIN drafts d ON d.task_id = l.task_id AND d.user_id = p_u
         WHERE l.id = v_reuse;
    ELSE
        -- Gold first when the draw says so (dispatch/policy.wants_gold), then the ordinary queue.
        v_exp := p_now + make_interval(secs => v_seconds);
        FOR v_try IN 0..1 LOOP
            v_gold := v_try = 0;
            CONTINUE WHEN v_gold AND NOT (v_gold_rate > 0 AND p_draw < v_gold_rate);
            WITH c AS (
                SELECT t.id FROM tasks t
                 WHERE t.project_id = p_p AND t.state = 'open' AND t.is_gold = v_gold
                   AND (v_gold OR t.done + t.leased < t.overlap) AND t.skills IS NULL
                   AND NOT EXISTS (SELECT 1 FROM leases s WHERE s.task_id = t.id AND s.user_id = p_u
                                    AND s.state IN ('active', 'submitted', 'skipped'))
                 ORDER BY t.queue_rank, t.id LIMIT 1 FOR UPDATE OF t SKIP LOCKED),
            k AS (
                UPDATE tasks SET leased = tasks.leased + 1 FROM c
                 WHERE tasks.id = c.id AND tasks.state = 'open'
                   AND (v_gold OR tasks.done + tasks.leased < tasks.overlap)
                RETURNING tasks.id, tasks.item_id),
            n AS (
                INSERT INTO leases (workspace_id, project_id, task_id, user_id, state, created_at, expires_at)
                SELECT p_w, p_p, k.id, p_u, 'active', p_now, v_exp FROM k
                ON CONFLICT (task_id, user_id) DO UPDATE SET state = 'active',
                   created_at = excluded.created_at, expires_at = excluded.expires_at, ended_at = NULL
                RETURNING leases.id, leases.task_id)
            SELECT n.id, n.task_id, v_exp, i.id, i.data, d.answer, i.content_hash
              INTO o_lease_id, o_task_id, o_expires_at, o_item_id, o_data, o_draft, o_content_hash
              FROM n JOIN k ON k.id = n.task_id JOIN items i ON i.id = k.item_id
              LEFT JOIN drafts d ON d.task_id = n.task_id AND d.user_id = p_u;
            EXIT WHEN FOUND;
        END LOOP;
        IF o_lease_id IS NULL THEN
            o_outcome := 'none';
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;
    -- Who was shown which item: one event in the caller's lane (services/audit.record_handout),
    -- its details as security/audit.event_hash serializes them (keys sorted, no spaces).
    v_details := '{' || CASE WHEN v_again THEN '"again":true,' ELSE '' END
        || '"lease":' || o_lease_id || ',"project":' || p_p || ',"task":' || o_task_id || '}';
    FOR v_try IN 1..20 LOOP
        SELECT a.seq, a.hash INTO v_seq, v_prev FROM audit_events a
         WHERE a.workspace_id = p_w AND a.lane = p_lane ORDER BY a.seq DESC LIMIT 1;
        IF NOT FOUND THEN
            v_seq := 0;
            v_prev := repeat('0', 64);
        END IF;
        v_seq := v_seq + 1;
        INSERT INTO audit_events (workspace_id, lane, seq, at, actor_id, actor, action, target,
                                  details, prev_hash, hash)
        VALUES (p_w, p_lane, v_seq, p_now, p_u, p_actor, 'task_handout', 'item:' || o_item_id,
                v_details::jsonb, v_prev,
                encode(sha256(convert_to(v_prev || E'\n[' || v_seq || ',' || p_event || ',"item:'
                    || o_item_id || '",' || v_details || ',"' || p_lane || '"]', 'UTF8')), 'hex'))
        ON CONFLICT (workspace_id, lane, seq) DO NOTHING;
        IF FOUND THEN
            o_outcome := 'ok';
            RETURN NEXT;
            RETURN;
        END IF;
    END LOOP;
    RAISE EXCEPTION USING MESSAGE = 'audit lane ' || p_lane || ' is busy', ERRCODE = 'unique_violation';
END
$fn$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # as the driver gets it: ``:true`` in the body is JSON, not a bound parameter
    op.get_bind().exec_driver_sql(_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS {_SIGNATURE}")
