DROP TABLE base_rates;
