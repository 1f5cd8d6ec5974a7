DROP TABLE register_editions;
DROP TABLE municipalities;
