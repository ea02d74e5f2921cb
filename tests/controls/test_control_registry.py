"""Every built-in control is registered and keeps to the ControlType contract."""

from labelhouse.controls import ControlConfig, registered_controls

BUILTINS = {"choices", "spans", "boxes", "text", "rating", "ranking", "preference"}
FORMATS = {"jsonl", "csv", "coco", "sft", "dpo"}


def test_builtin_controls_are_registered_under_their_type() -> None:
    controls = registered_controls()
    assert BUILTINS <= set(controls)
    for name in BUILTINS:
        control = controls[name]
        assert control.type == name
        assert issubclass(control.config_model, ControlConfig)
        # The config's type field accepts exactly this control's name.
        assert control.config_model.model_fields["type"].annotation.__args__ == (name,)  # type: ignore[union-attr]
        assert control.exports and control.exports <= FORMATS
        assert {"jsonl", "csv"} <= control.exports
