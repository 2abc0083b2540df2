export type FeedbackLabel = "true_positive" | "false_positive" | "incident";

export const feedbackLabels: readonly FeedbackLabel[] = ["true_positive", "false_positive", "incident"];

export interface Feedback {
  readonly id: string;
  readonly decisionId: string;
  readonly label: FeedbackLabel;
  readonly by: string;
  readonly reason?: string;
  readonly at: string;
  /** review | override | api | cli | event */
  readonly via: string;
}
