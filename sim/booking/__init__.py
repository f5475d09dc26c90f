"""The booking pass: appointment books and the rules that route every need through them."""
