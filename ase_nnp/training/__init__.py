"""Training: loss and gradients (numpy), built on the engine; the engine never imports this."""
from .loss import Frame, LossWeights, loss_and_gradient

__all__ = ["Frame", "LossWeights", "loss_and_gradient"]
