//! The `table!` schema, valid for both backends (kept by hand; the migrations are the truth).

diesel::table! {
    municipalities (ags) {
        ags -> Text,
        name -> Text,
        name_folded -> Text,
        kind -> Text,
        kreis -> Text,
        verband -> Nullable<Text>,
        population -> Nullable<BigInt>,
        area_ha -> Nullable<BigInt>,
        postcode -> Nullable<Text>,
        valid_from -> Nullable<Date>,
        valid_to -> Nullable<Date>,
        edition -> Date,
    }
}

diesel::table! {
    register_editions (edition) {
        edition -> Date,
        imported_at -> Timestamp,
        records -> Integer,
        imported_by -> Text,
    }
}

diesel::table! {
    programmes (code) {
        code -> Text,
        name -> Text,
        legal_basis -> Text,
        financing_type -> Text,
        max_rate_bp -> Nullable<Integer>,
        min_grant_cents -> Nullable<BigInt>,
        max_grant_cents -> Nullable<BigInt>,
        min_partners -> Nullable<Integer>,
        valid_from -> Date,
        valid_to -> Nullable<Date>,
        call_opens -> Nullable<Date>,
        call_closes -> Nullable<Date>,
        version -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    funding_objects (programme_code, code) {
        programme_code -> Text,
        code -> Text,
        description -> Text,
        fundable_now -> Bool,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        record_type -> Text,
        record_key -> Text,
        seq -> BigInt,
        occurred_at -> Timestamp,
        actor -> Text,
        role -> Text,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Nullable<Text>,
        reason -> Nullable<Text>,
        changes -> Text,
        prev_mac -> Text,
        mac -> Text,
        state -> Text,
        state_hash -> Text,
        key_id -> Text,
        txid -> BigInt,
    }
}

diesel::table! {
    audit_seals (id) {
        id -> BigInt,
        from_txid -> BigInt,
        to_txid -> BigInt,
        entries -> BigInt,
        first_event -> BigInt,
        last_event -> BigInt,
        digest -> Text,
        sealed_at -> Timestamp,
        prev_mac -> Text,
        mac -> Text,
        key_id -> Text,
    }
}

diesel::table! {
    audit_checkpoints (seq, verified) {
        seq -> BigInt,
        head_mac -> Text,
        created_at -> Timestamp,
        verified -> Bool,
        key_id -> Text,
        mac -> Text,
    }
}

diesel::table! {
    notice_documents (notice_id) {
        notice_id -> Text,
        sha256 -> Text,
        content -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    applications (id) {
        id -> Text,
        case_number -> Text,
        case_year -> Integer,
        programme_code -> Text,
        funding_object -> Text,
        lead_ags -> Text,
        joint -> Bool,
        title -> Text,
        description -> Text,
        project_start -> Nullable<Date>,
        project_end -> Nullable<Date>,
        total_cost_cents -> BigInt,
        eligible_cents -> BigInt,
        own_contribution_cents -> BigInt,
        third_party_cents -> BigInt,
        requested_cents -> BigInt,
        granted_cents -> Nullable<BigInt>,
        paid_cents -> BigInt,
        status -> Text,
        version -> Integer,
        info_due -> Nullable<Date>,
        early_start_at -> Nullable<Timestamp>,
        early_start_by -> Nullable<Text>,
        clock_seconds -> BigInt,
        clock_since -> Nullable<Timestamp>,
        submitted_at -> Nullable<Timestamp>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        reclaimed_cents -> BigInt,
        contact -> Nullable<Text>,
        postal_address -> Nullable<Text>,
    }
}

diesel::table! {
    cost_lines (application_id, line_no) {
        application_id -> Text,
        line_no -> Integer,
        category -> Text,
        description -> Text,
        amount_cents -> BigInt,
        eligible -> Bool,
        actual_cents -> Nullable<BigInt>,
    }
}

diesel::table! {
    application_members (application_id, ags) {
        application_id -> Text,
        position -> Integer,
        ags -> Text,
        kreis -> Text,
        share_bp -> Integer,
        is_lead -> Bool,
    }
}

diesel::table! {
    case_counters (prefix, year) {
        prefix -> Text,
        year -> Integer,
        last_number -> Integer,
    }
}

diesel::table! {
    case_number_allocations (case_number) {
        case_number -> Text,
        allocated_at -> Timestamp,
        allocated_by -> Text,
        outcome -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (subject, idem_key) {
        subject -> Text,
        idem_key -> Text,
        request_hash -> Text,
        status_code -> Integer,
        response -> Text,
        resource_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    base_rates (valid_from) {
        valid_from -> Date,
        hundredths -> Integer,
        added_by -> Text,
        added_at -> Timestamp,
    }
}

diesel::table! {
    notices (id) {
        id -> Text,
        application_id -> Text,
        kind -> Text,
        status -> Text,
        number -> Nullable<Text>,
        seq -> Nullable<Integer>,
        case_version -> Integer,
        refers_to -> Nullable<Text>,
        financing_type -> Nullable<Text>,
        rate_bp -> Nullable<Integer>,
        max_cents -> Nullable<BigInt>,
        fixed_cents -> Nullable<BigInt>,
        eligible_cents -> Nullable<BigInt>,
        computed_cents -> Nullable<BigInt>,
        granted_cents -> Nullable<BigInt>,
        paid_cents -> BigInt,
        revoked_cents -> Nullable<BigInt>,
        reclaim_cents -> Nullable<BigInt>,
        reclaim_due -> Nullable<Date>,
        interest_from -> Nullable<Date>,
        grant_period_start -> Nullable<Date>,
        grant_period_end -> Nullable<Date>,
        proof_due -> Nullable<Date>,
        purpose -> Nullable<Text>,
        binding_years -> Nullable<Integer>,
        reason -> Nullable<Text>,
        posted_on -> Date,
        delivery_days -> Integer,
        prepared_by -> Text,
        prepared_at -> Timestamp,
        signed_by -> Nullable<Text>,
        signed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    notice_lines (notice_id, line_no) {
        notice_id -> Text,
        line_no -> Integer,
        applied_cents -> BigInt,
        approved_cents -> BigInt,
        actual_cents -> Nullable<BigInt>,
        eligible -> Bool,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    notice_allocations (notice_id, fiscal_year) {
        notice_id -> Text,
        fiscal_year -> Integer,
        amount_cents -> BigInt,
    }
}

diesel::table! {
    budgets (programme_code, fiscal_year) {
        programme_code -> Text,
        fiscal_year -> Integer,
        amount_cents -> BigInt,
        committed_cents -> BigInt,
        updated_by -> Text,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    payment_requests (id) {
        id -> Text,
        application_id -> Text,
        amount_cents -> BigInt,
        reason -> Nullable<Text>,
        status -> Text,
        requested_by -> Text,
        requested_at -> Timestamp,
        prepared_by -> Nullable<Text>,
        prepared_at -> Nullable<Timestamp>,
        paid_by -> Nullable<Text>,
        paid_at -> Nullable<Timestamp>,
        paid_year -> Nullable<Integer>,
        rejected_by -> Nullable<Text>,
        rejected_at -> Nullable<Timestamp>,
        rejection_reason -> Nullable<Text>,
    }
}

diesel::table! {
    delivery_rules (valid_from) {
        valid_from -> Date,
        days -> Integer,
        added_by -> Text,
        added_at -> Timestamp,
        source -> Nullable<Text>,
    }
}

diesel::joinable!(funding_objects -> programmes (programme_code));
diesel::joinable!(cost_lines -> applications (application_id));
diesel::joinable!(application_members -> applications (application_id));
diesel::table! {
    repayments (id) {
        id -> Text,
        application_id -> Text,
        amount_cents -> BigInt,
        received_on -> Date,
        received_year -> Integer,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    programmes,
    funding_objects,
    applications,
    case_number_allocations,
    cost_lines,
    application_members,
    municipalities,
    notices,
    notice_lines,
    notice_allocations,
    budgets,
    payment_requests,
    repayments,
    events,
);
diesel::joinable!(notices -> applications (application_id));
diesel::joinable!(payment_requests -> applications (application_id));
diesel::joinable!(budgets -> programmes (programme_code));

diesel::table! {
    events (id) {
        id -> BigInt,
        txid -> BigInt,
        position -> Nullable<BigInt>,
        event_type -> Text,
        record_type -> Text,
        record_id -> Text,
        version -> BigInt,
        occurred_at -> Timestamp,
        case_id -> Nullable<Text>,
        audit_id -> BigInt,
        data -> Text,
    }
}

diesel::table! {
    webhook_subscriptions (id) {
        id -> Text,
        url -> Text,
        event_types -> Text,
        secret -> Text,
        active -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        created_by -> Text,
        updated_at -> Timestamp,
        updated_by -> Text,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        subscription_id -> Text,
        event_id -> BigInt,
        event_position -> BigInt,
        event_type -> Text,
        record_type -> Text,
        record_id -> Text,
        status -> Text,
        attempts -> Integer,
        failures -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        claimed_by -> Nullable<Text>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_attempts (delivery_id, attempt) {
        delivery_id -> Text,
        attempt -> Integer,
        attempted_at -> Timestamp,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        duration_ms -> BigInt,
        claimed_by -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    webhook_subscriptions,
    webhook_deliveries,
    webhook_attempts
);
diesel::joinable!(webhook_deliveries -> webhook_subscriptions (subscription_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
