-- leading comment
sElEcT *   -- items
  FrOm docs
  wHeRe x = 'a -- not a comment' -- trailing
  LiMiT 3 ;
