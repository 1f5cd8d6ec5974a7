DROP TABLE repayments;
