-- insert/index/query script for swheap's overhead suite: sqlite3 :memory: < sqlite.sql
PRAGMA cache_size = -65536;
CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT, category INTEGER, price REAL, note TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
INSERT INTO item(name, category, price, note)
SELECT printf('item-%06d', i), i % 97, (i * 7919 % 10007) / 100.0, hex(randomblob(16 + i % 48)) FROM n;
CREATE INDEX item_category ON item(category, price);
CREATE INDEX item_name ON item(name);
CREATE TABLE summary AS
SELECT category, count(*) AS n, avg(price) AS mean, max(length(note)) AS longest FROM item GROUP BY category;
SELECT count(*), sum(n) FROM summary;
SELECT name, price FROM item WHERE category = 42 ORDER BY price DESC LIMIT 5;
SELECT category, group_concat(substr(name, 6), ',') FROM (SELECT * FROM item WHERE price < 1.0) GROUP BY category ORDER BY category LIMIT 3;
SELECT count(DISTINCT substr(note, 1, 4)) FROM item;
UPDATE item SET note = upper(note) WHERE id % 5 = 0;
DELETE FROM item WHERE category IN (1, 2, 3);
SELECT count(*) FROM item a JOIN summary s ON a.category = s.category WHERE a.price > s.mean;
