-- The LagostaCRM tables the rollout touches, with their real names, columns and keys
-- (crm-contract.md §2). Only what the double and the runbook queries need.
CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE TABLE organizations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

-- The public API's companies (LagostaCRM schema_init: crm_companies).
CREATE TABLE crm_companies (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations(id),
  name text NOT NULL,
  industry text,
  website text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

CREATE TABLE contacts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations(id),
  name text NOT NULL,
  email text,
  phone text,
  avatar text,
  notes text,
  role text,
  company_name text,
  client_company_id uuid REFERENCES crm_companies(id),
  source text,
  status text DEFAULT 'ACTIVE',
  stage text DEFAULT 'LEAD',
  birth_date date,
  last_interaction timestamptz,
  last_purchase_date date,
  total_value numeric DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE INDEX contacts_org_idx ON contacts (organization_id, created_at DESC);

CREATE TABLE boards (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations(id),
  key text,
  name text NOT NULL,
  description text,
  position int NOT NULL DEFAULT 0,
  is_default boolean NOT NULL DEFAULT false,
  won_stage_id uuid,
  lost_stage_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE UNIQUE INDEX boards_org_key_uniq ON boards (organization_id, key)
  WHERE deleted_at IS NULL AND key IS NOT NULL;

CREATE TABLE board_stages (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  board_id uuid NOT NULL REFERENCES boards(id),
  organization_id uuid NOT NULL REFERENCES organizations(id),
  name text NOT NULL,
  label text,
  color text,
  "order" int NOT NULL DEFAULT 0
);

CREATE TABLE deals (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations(id),
  board_id uuid REFERENCES boards(id),
  stage_id uuid REFERENCES board_stages(id),
  contact_id uuid REFERENCES contacts(id),
  client_company_id uuid REFERENCES crm_companies(id),
  title text NOT NULL,
  value numeric NOT NULL DEFAULT 0,
  ai_summary text,
  is_won boolean NOT NULL DEFAULT false,
  is_lost boolean NOT NULL DEFAULT false,
  closed_at timestamptz,
  loss_reason text,
  last_stage_change_date timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE INDEX deals_contact_idx ON deals (organization_id, contact_id);

-- LagostaCRM's trigger: one open deal per contact and stage (raises unique_violation).
CREATE FUNCTION check_deal_duplicate() RETURNS trigger AS $$
BEGIN
  IF NEW.contact_id IS NULL OR NEW.is_won OR NEW.is_lost
     OR current_setting('golive.skip_deal_duplicate_check', true) = 'on' THEN  -- a fault's bypass
    RETURN NEW;
  END IF;
  IF EXISTS (
    SELECT 1 FROM deals d WHERE d.contact_id = NEW.contact_id AND d.stage_id = NEW.stage_id
      AND d.deleted_at IS NULL AND NOT d.is_won AND NOT d.is_lost
      AND (TG_OP = 'INSERT' OR d.id <> NEW.id)
  ) THEN
    RAISE EXCEPTION 'an open deal of this contact is already in this stage'
      USING ERRCODE = 'unique_violation', HINT = 'check_deal_duplicate';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER check_deal_duplicate_trigger BEFORE INSERT OR UPDATE ON deals
  FOR EACH ROW EXECUTE FUNCTION check_deal_duplicate();

CREATE TABLE api_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations(id),
  name text NOT NULL DEFAULT 'default',
  key_prefix text NOT NULL,
  key_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  last_used_at timestamptz
);

CREATE TABLE messaging_channel_configs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations(id),
  chatwoot_base_url text NOT NULL,
  chatwoot_api_token text NOT NULL,
  chatwoot_account_id int NOT NULL,
  chatwoot_inbox_id int,
  channel_type text NOT NULL DEFAULT 'whatsapp',
  name text NOT NULL,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'error')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX messaging_channel_configs_active_uniq
  ON messaging_channel_configs (organization_id, channel_type, name) WHERE status = 'active';

CREATE TABLE messaging_conversation_links (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations(id),
  chatwoot_conversation_id int NOT NULL,
  chatwoot_contact_id int,
  chatwoot_inbox_id int,
  contact_id uuid REFERENCES contacts(id),
  deal_id uuid REFERENCES deals(id),
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'resolved')),
  unread_count int NOT NULL DEFAULT 0,
  last_message_at timestamptz,
  last_message_preview text,
  last_message_sender text CHECK (last_message_sender IN ('customer', 'agent')),
  chatwoot_url text,
  assigned_agent_id int,
  assigned_agent_name text,
  contact_name text,
  contact_phone text,
  contact_avatar_url text,
  ai_enabled boolean NOT NULL DEFAULT true,
  handoff_source text CHECK (handoff_source IN ('ui', 'agent', 'echo_ig', 'echo_wa', 'webhook', 'api')),
  handoff_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- Replaced by a plain index when the re-entry fault is on (see faults.py).
CREATE UNIQUE INDEX messaging_conversation_links_org_conv_uniq
  ON messaging_conversation_links (organization_id, chatwoot_conversation_id);

CREATE TABLE messaging_messages_cache (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations(id),
  chatwoot_message_id int NOT NULL,
  chatwoot_conversation_id int NOT NULL,
  content text,
  content_type text,
  message_type text NOT NULL CHECK (message_type IN ('incoming', 'outgoing', 'activity')),
  is_private boolean NOT NULL DEFAULT false,
  attachments jsonb NOT NULL DEFAULT '[]'::jsonb,
  sender_type text,
  sender_id int,
  sender_name text,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Dropped while the message-replay fault is on (see faults.py).
  CONSTRAINT messaging_messages_cache_org_message_uniq UNIQUE (organization_id, chatwoot_message_id)
);

CREATE TABLE messaging_contact_identities (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations(id),
  contact_id uuid NOT NULL REFERENCES contacts(id),
  source text NOT NULL CHECK (source IN ('WHATSAPP', 'INSTAGRAM')),
  external_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT messaging_contact_identities_org_source_ext_uniq
    UNIQUE (organization_id, source, external_id)
);
CREATE INDEX messaging_contact_identities_contact_idx
  ON messaging_contact_identities (organization_id, contact_id);

CREATE TABLE messaging_identity_resolution_log (
  id bigserial PRIMARY KEY,
  organization_id uuid NOT NULL REFERENCES organizations(id),
  source text,
  external_id text,
  action text NOT NULL CHECK (action IN
    ('created', 'matched', 'fallback_phone', 'fallback_email', 'ambiguous', 'not_found', 'error')),
  contact_id uuid,
  identity_id uuid,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  error_message text,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE contact_identifiers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations(id),
  contact_id uuid NOT NULL REFERENCES contacts(id),
  channel text NOT NULL CHECK (channel IN
    ('whatsapp', 'instagram', 'messenger', 'telegram', 'email', 'sms', 'other')),
  identifier text NOT NULL,
  is_primary boolean NOT NULL DEFAULT false,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  UNIQUE (organization_id, channel, identifier)
);

CREATE TABLE activities (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations(id),
  deal_id uuid REFERENCES deals(id),
  contact_id uuid REFERENCES contacts(id),
  client_company_id uuid REFERENCES crm_companies(id),
  type text NOT NULL,
  title text NOT NULL,
  description text,
  date timestamptz NOT NULL DEFAULT now(),
  completed boolean NOT NULL DEFAULT false,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

-- Users of the CRM's web UI, as Supabase keeps them: credentials in auth.users, the
-- organisation and role in public.profiles (LagostaCRM schema_init). auth.uid() reads the
-- JWT subject the way PostgREST hands it to PostgreSQL (request.jwt.claims).
CREATE SCHEMA IF NOT EXISTS auth;

CREATE TABLE auth.users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL UNIQUE,
  encrypted_password text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE profiles (
  id uuid PRIMARY KEY REFERENCES auth.users(id) ON DELETE CASCADE,
  email text,
  name text,
  role text DEFAULT 'user',
  organization_id uuid REFERENCES organizations(id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT nullif(coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
  ), '')::uuid
$$;
