"""The pages people use in a browser: sign-in, a rep's queue and availability, the managers'
unrouted queue. An edge app: views validate, call one service or selector, and render."""
