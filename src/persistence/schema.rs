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
