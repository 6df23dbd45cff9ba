SELECT * FROM products WHERE price > (SELECT AVG(price) FROM products WHERE category = 'books') AND id IN (SELECT product_id FROM orders)
