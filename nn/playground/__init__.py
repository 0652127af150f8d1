"""The playground: a network trained live in the browser, its boundary, its loss and the chain rule.

`chainrule playground` starts it (`command`); `server` is the HTTP and event-stream side,
`session` the training state, `point` the selected point's graph and what is read from it.
"""
