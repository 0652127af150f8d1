"""chainrule's network layer: modules, losses, optimisers, data and training on `engine` Values."""
