DROP TABLE case_number_allocations;
