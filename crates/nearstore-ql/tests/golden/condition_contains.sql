SELECT * FROM t WHERE tags CONTAINS 'rust' AND tags CONTAINS ANY ('a', 'b') AND tags CONTAINS ALL ('c', 'd') AND body CONTAINS_TEXT 'needle'
