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
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::joinable!(funding_objects -> programmes (programme_code));
diesel::allow_tables_to_appear_in_same_query!(programmes, funding_objects);
