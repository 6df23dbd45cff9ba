describe docs
