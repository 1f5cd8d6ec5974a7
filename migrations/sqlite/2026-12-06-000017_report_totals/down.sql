DROP TABLE report_totals_state;
DROP TABLE report_totals;
DROP TABLE report_case_parts;
